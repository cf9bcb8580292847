import multiprocessing

from sigverify.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the frozen bundle starts the store process by running itself again
    raise SystemExit(main())
