from django.urls import path

from accounts import views

urlpatterns = [
    path("2fa/", views.enrol, name="enrol_totp"),
]
