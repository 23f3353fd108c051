"""When the FHIR server first served each resource as it now reads: its `meta.lastUpdated`.

The product's rows keep no "updated at" time (a task, a course, a weighing), and what a resource
shows also follows the calendar (a cycle's activity turns from scheduled to in-progress at
midnight on the unit's clock) and other rows (a CarePlan's cycles, a care team's members). So a
resource's version is the hash of its served JSON (coordination.fhir.versions), and this ledger
keeps, per resource, the last version served and since when: the time that this server first
served that content. It holds ids and hashes only, no patient data.
"""

from django.db import models


class ServedVersion(models.Model):
    resource = models.CharField(max_length=100, unique=True)  # "Task/task-12"
    version = models.CharField(max_length=32)
    served_since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.resource} version {self.version} (since {self.served_since:%Y-%m-%d %H:%M})"
