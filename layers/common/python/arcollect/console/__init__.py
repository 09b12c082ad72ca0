"""The staff console under /staff: collectors and managers sign in with the staff user pool and work
their worklist, the customer 360, disputes, the team view and the reports.

Who is asking always comes from the ``arc_staff`` session cookie (StaffSessions.resume), never from a
form. Every POST checks a CSRF token: the session's, or before sign-in a double-submit token (the
``arc_staff_login`` cookie must match the form's hidden field, so another site cannot sign a browser in
to an account of its choosing). WorkspaceInputError re-renders the page with the message beside the
field and what was typed kept; a POST that worked answers 303 to the customer's 360 page with
``?done=<what>``, shown as a status message.

Cookies (all HttpOnly, Secure, Path=<base>/staff so the customer portal never receives them):

- ``arc_staff``: the session id. SameSite=Lax, not Strict: a link to a customer in the daily digest
  email, or one pasted into chat, is a top-level GET from another site, and with Strict it would land on
  the sign-in page despite a live session. Lax still keeps the cookie off cross-site POSTs, and every
  POST needs the session's CSRF token anyway; GETs change nothing.
- ``arc_staff_challenge``: the Cognito challenge between the sign-in form and the step it asks for (user
  name, challenge session, which step): a new password (NEW_PASSWORD_REQUIRED), setting up an
  authenticator app (MFA_SETUP, with the key AssociateSoftwareToken gave, to show it again after a
  wrong code) or the app's code (SOFTWARE_TOKEN_MFA). A cookie rather than a hidden field keeps the
  bearer challenge session out of the page's HTML and out of URLs (page source, form restore,
  screenshots, access logs), and HttpOnly keeps it from scripts; nothing logs it. It need not be signed:
  Cognito binds the session to the user, so an edited cookie is merely refused. Max-Age 15 minutes
  (Cognito's longest challenge validity; Cognito enforces its own, 3 minutes by default, and an expired
  one sends the user back to the sign-in form with a message). SameSite=Strict: it is only ever needed
  by a same-site POST or the step's own page.
- ``arc_staff_login``: the pre-sign-in CSRF token (SameSite=Strict, one hour).

The package: ``common`` (what the routes share), ``signin``, ``worklist`` and ``accounts`` (the
routes), ``errors`` (what a route that gives up answers); ``StaffConsole.register`` here wires them onto
the resolver the portal's app (``portal/web/app.py``) hands over. The console sits above the portal and
the workspace: it uses the portal's web plumbing and the workspace's use cases, and neither imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.event_handler import Response

from arcollect.console import accounts, deductions, errors, manual, replies, signin, worklist
from arcollect.console import credit_control as credit_control_routes
from arcollect.console import plans as payment_plans
from arcollect.console.common import COOKIE_NAME, PREFIX, ConsoleServices, StaffWeb
from arcollect.portal.web.common import Web


@dataclass(frozen=True)
class StaffConsole(ConsoleServices):
    """The staff console: what it runs on (``ConsoleServices``), and its routes under /staff."""

    def register(self, web: Web) -> None:
        """The /staff routes, on ``web``'s resolver."""
        staff = StaffWeb(web, self)
        signin.register(staff)
        worklist.register(staff)
        accounts.register(staff)
        payment_plans.register(staff)
        deductions.register(staff)
        credit_control_routes.register(staff)
        manual.register(staff)
        replies.register(staff)
        errors.register(staff)

    def not_found_page(self, web: Web) -> Response[str]:
        """What a path under /staff that no route serves answers."""
        return errors.not_found_page(web)


__all__ = ["COOKIE_NAME", "PREFIX", "ConsoleServices", "StaffConsole"]
