"""`python -m bot.telegram`: run the Telegram gateway (configuration from the environment)."""

import sys

from bot.telegram.app import main

sys.exit(main())
