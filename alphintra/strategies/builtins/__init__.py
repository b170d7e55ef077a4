"""Built-in strategies; each module registers its class with ``alphintra.strategies.registry``."""
