"""The Customer screen (screen.py: the header, the switcher, the tabs) and one module per tab:
main.py (Main), contacts.py (Contacts), number_block.py (Number Block), summary.py (Summary),
rules.py (Rules), audit.py (Audit Log). A tab's own dialogs sit beside it: contact_form.py and
contact_password.py (Contacts), number_dialogs.py (Number Block)."""
