from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "Accounts: second factor and login lockouts"


class SecureAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site of accounts.admin_site (a second factor)."""

    default = False
    default_site = "accounts.admin_site.SecureAdminSite"
