from carriertui.cli import main

raise SystemExit(main())
