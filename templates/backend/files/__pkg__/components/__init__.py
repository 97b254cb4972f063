"""Code owned by the selected components (clients, checks, routers, CLI groups), one module each."""
