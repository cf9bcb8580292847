from sigverify.cli import main

raise SystemExit(main())
