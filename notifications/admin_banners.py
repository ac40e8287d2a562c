"""Admin of banners and webhook deliveries."""
