"""The stateful engine loop: wires perception, events, fusion, inventory and carts; owns storage."""
