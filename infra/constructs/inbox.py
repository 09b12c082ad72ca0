"""Inbox: SES receives customers' replies on the inbound domain and writes each message under inbox/ in
the drop bucket; the bucket's notification (the Ingest construct's) hands it to the ingest function,
which threads and files it (docs/inbox.md).

Only with an inbound domain (context ``inboundDomain``), and only in a region where SES receives email.
A receipt rule set does nothing until it is the account's active one, which CloudFormation cannot set:
`aws ses set-active-receipt-rule-set` does (docs/deploy.md)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as actions
from constructs import Construct

from arcollect.contract import DropPrefix
from infra.constructs.data import DataStore


class Inbox(Construct):
    def __init__(
        self, scope: Construct, id: str, *, data: DataStore, inbound_domain: str, sender_domain: str | None
    ) -> None:
        super().__init__(scope, id)
        self.inbound_domain = inbound_domain
        # SES receives only for a verified domain. The sender's domain identity (Mail) verifies it when
        # it is the same domain; another one (replies.example.com) gets its own identity.
        if inbound_domain != sender_domain:
            self.identity: ses.EmailIdentity | None = ses.EmailIdentity(
                self, "InboundDomainIdentity", identity=ses.Identity.domain(inbound_domain)
            )
        else:
            self.identity = None
        self.rule_set = ses.ReceiptRuleSet(self, "RuleSet", drop_spam=False)
        self.rule_set.add_rule(
            "Replies",
            recipients=[inbound_domain],
            # SES's S3 action grants itself s3:PutObject on inbox/* by the bucket's policy (scoped to
            # this account); the bucket's default encryption (SSE-S3) encrypts the messages at rest.
            actions=[actions.S3(bucket=data.drop_bucket, object_key_prefix=DropPrefix.INBOX)],
            # Spam and virus verdicts travel in the message's X-SES-* headers; nothing is rejected for
            # them (a customer's real reply is never lost to a false positive).
            scan_enabled=True,
            # A reply from a mail server without TLS is still a customer's reply: accepted.
            tls_policy=ses.TlsPolicy.OPTIONAL,
            enabled=True,
        )
        region = Stack.of(self).region
        # What to publish: mail for the domain goes to SES's inbound endpoint of the stack's region.
        self.dns_records = [
            {"type": "MX", "name": inbound_domain, "value": f"10 inbound-smtp.{region}.amazonaws.com"}
        ]
        if self.identity is not None:
            self.dns_records += [
                {"type": "CNAME", "name": name, "value": value}
                for name, value in (
                    (self.identity.dkim_dns_token_name1, self.identity.dkim_dns_token_value1),
                    (self.identity.dkim_dns_token_name2, self.identity.dkim_dns_token_value2),
                    (self.identity.dkim_dns_token_name3, self.identity.dkim_dns_token_value3),
                )
            ]

    @property
    def rule_set_name(self) -> str:
        return self.rule_set.receipt_rule_set_name
