"""The "Download CSV" link of the coordinators' lists (coordination.exports)."""

from django import template
from django.utils.html import format_html

from coordination.exports import csv_url

register = template.Library()


@register.simple_tag(takes_context=True)
def csv_link(context, label: str = "Download CSV"):
    return format_html(
        '<a class="btn btn-sm btn-outline-secondary" href="{}" download>{}</a>', csv_url(context["request"]), label
    )
