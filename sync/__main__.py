from sync import runtime
from sync.serve.cli.main import main

# Once the CLI is imported: its modules are set aside from the collector's scans.
runtime.tune_garbage_collector()
main()
