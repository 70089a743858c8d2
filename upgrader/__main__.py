from upgrader.cli import main

main()
