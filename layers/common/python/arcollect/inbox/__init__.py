"""The replies inbox: customers' answers to reminders, received by SES, threaded to their customer and
touch and filed in the timeline with a task for the owner (docs/inbox.md)."""
