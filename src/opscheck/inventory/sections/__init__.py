"""One module per inventory section; each defines the item model of its section."""
