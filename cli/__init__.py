"""newsbot's command line: a thin front end over the archive in `index/`."""
