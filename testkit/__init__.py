"""What tests and scripts share: a fake Telegram Bot API server, generated news, a crowd of users.

The product (bot/, cli/, index/) never imports it.
"""
