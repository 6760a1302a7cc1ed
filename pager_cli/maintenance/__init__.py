"""Maintenance (PRODUCT.md §12): while a service is in a window, its alerts are
recorded but page nobody and nothing escalates; at the window's end what is
still triggered starts escalating at level 0."""
