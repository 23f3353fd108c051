"""The toxicity watch around the clock: the on-call roster, urgent alerts that a CRS or ICANS
grade, a seizure or a home check-in's red flag sets off, their acknowledgement and escalation
down the roster. Models, services, selectors, policy, forms and views, as the other packages."""
