"""The CRM store: models, account service, portfolio imports and the synthetic portfolio."""
