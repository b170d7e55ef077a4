from alphintra.cli.launch import main

main()
