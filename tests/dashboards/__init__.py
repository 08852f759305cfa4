"""Tests of the dashboards (dashboards/) and the deploy stack (deploy/), without Grafana."""
