from wanode.cli.main import main

main()
