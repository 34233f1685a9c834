"""The pure core: plain data and functions, standard library only."""
