"""Mail: the SES sender identity and configuration set every email of the app goes out through.

Reminders (dunning) and fresh portal links (portal) both send; the configuration set publishes SES's
events to EventBridge, where the dunning construct routes them back into the customer's timeline.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ses as ses
from constructs import Construct

# The SES events that change what dunning does next (suppress an address, record a delivery).
EMAIL_EVENTS = {
    # A send event carries the reservation's touch id: it completes a reminder a crash left reserved.
    ses.EmailSendingEvent.SEND: "Email Sent",
    ses.EmailSendingEvent.BOUNCE: "Email Bounced",
    ses.EmailSendingEvent.COMPLAINT: "Email Complaint Received",
    ses.EmailSendingEvent.DELIVERY: "Email Delivered",
    ses.EmailSendingEvent.REJECT: "Email Rejected",
    ses.EmailSendingEvent.DELIVERY_DELAY: "Email Delivery Delayed",
    ses.EmailSendingEvent.RENDERING_FAILURE: "Email Rendering Failed",
    ses.EmailSendingEvent.OPEN: "Email Opened",
    ses.EmailSendingEvent.CLICK: "Email Clicked",
}


# The MAIL FROM subdomain of a sender domain: bounces come back there, and SPF aligns with the domain.
MAIL_FROM_SUBDOMAIN = "bounce"


class Mail(Construct):
    def __init__(
        self, scope: Construct, id: str, *, sender_email: str, sender_domain: str | None = None
    ) -> None:
        super().__init__(scope, id)
        self.sender_email = sender_email
        self.sender_domain = sender_domain
        # The DNS records to publish for a sender domain (none for an email identity).
        self.dns_records: list[dict[str, str]] = []
        if sender_domain:
            # A domain identity signs every reminder with Easy DKIM (2048-bit) and sends from a custom
            # MAIL FROM domain, so SPF and DKIM both align with the sender's domain: DMARC passes.
            mail_from = f"{MAIL_FROM_SUBDOMAIN}.{sender_domain}"
            self.sender_identity = ses.EmailIdentity(
                self,
                "SenderDomainIdentity",
                identity=ses.Identity.domain(sender_domain),
                mail_from_domain=mail_from,
                mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
            )
            region = Stack.of(self).region
            self.dns_records = [
                *(
                    {"type": "CNAME", "name": name, "value": value}
                    for name, value in (
                        (
                            self.sender_identity.dkim_dns_token_name1,
                            self.sender_identity.dkim_dns_token_value1,
                        ),
                        (
                            self.sender_identity.dkim_dns_token_name2,
                            self.sender_identity.dkim_dns_token_value2,
                        ),
                        (
                            self.sender_identity.dkim_dns_token_name3,
                            self.sender_identity.dkim_dns_token_value3,
                        ),
                    )
                ),
                {"type": "MX", "name": mail_from, "value": f"10 feedback-smtp.{region}.amazonses.com"},
                {"type": "TXT", "name": mail_from, "value": '"v=spf1 include:amazonses.com ~all"'},
                # Not SES's, but what makes receivers act on the two above: start with monitoring.
                {"type": "TXT", "name": f"_dmarc.{sender_domain}", "value": '"v=DMARC1; p=none;"'},
            ]
        else:
            self.sender_identity = ses.EmailIdentity(
                self, "SenderIdentity", identity=ses.Identity.email(sender_email)
            )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        # SES can publish to the default event bus only.
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(default_bus),
            events=list(EMAIL_EVENTS),
        )

    @property
    def configuration_set_name(self) -> str:
        return self.configuration_set.configuration_set_name

    def allow_sending(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` send from the sender identity through the configuration set."""
        self.sender_identity.grant_send_email(grantee)
        # SES authorises a send against the configuration set too, and the set has no grant method.
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resource_arns=[
                Stack.of(self).format_arn(
                    service="ses", resource="configuration-set", resource_name=self.configuration_set_name
                )
            ],
        )
