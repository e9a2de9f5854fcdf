"""`python -m bot`: run the Telegram bot."""

import sys

from bot.app import main

sys.exit(main())
