"""The Overseer dashboard (Flet web), served by the backend at `/dashboard`."""
