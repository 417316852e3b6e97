from glupy.cli.commands import main

main()
