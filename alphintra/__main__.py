from alphintra.cli.main import main

main()
