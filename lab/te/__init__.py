"""`python -m lab te SITE ACTION`: traffic engineering on a running lab, one site at a time.

action.py   the actions (prepend, med, community, no-community, withdraw, announce, restore),
            parsed and applied to what a site announces (pure)
frr.py      the same as FRR commands, for a reference-mode site (pure)
change.py   carrying an action out: minibgp's control socket (python mode) or the site's bgpd
            through its vty (reference mode)
run.py      the catchment before, the action, the clients settling, the catchment after
report.py   the text

For tools built on it (the live page's buttons, benchmarks, tests):

    from lab.te import TeAction, change, run_te
    change(lab, "site-west", TeAction.parse(["prepend", "2"]))        # just do it
    result = run_te(lab, "site-west", TeAction.parse(["community", "no-export"]))
    result.before.sites_of(4), result.after.sites_of(4), result.settled.settle_time
"""

from .action import SiteAnnouncement, TeAction, TeError
from .change import change, current
from .run import TeResult, run_te

__all__ = ["SiteAnnouncement", "TeAction", "TeError", "TeResult", "change", "current", "run_te"]
