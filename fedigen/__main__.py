"""``python -m fedigen`` runs the command line."""

from fedigen.cli import main

main()
