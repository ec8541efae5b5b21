"""``python -m fedigen`` runs the command line."""

from fedigen.cli import main

if __name__ == "__main__":  # not when an image process (storage.offload) starts from `python -m fedigen`
    main()
