import sys

from babyaipp.cli import main

sys.exit(main())
