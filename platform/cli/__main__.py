from mom.platform.cli.main import main

main()
