"""What every management command shares (Django-aware, so not in the kernel)."""
