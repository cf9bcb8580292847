"""The command line, one module per group of commands; sigverify/cli.py builds the parser and runs them."""
