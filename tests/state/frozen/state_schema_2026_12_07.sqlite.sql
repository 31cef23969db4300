-- The state database schema of main on 2026-12-07, the last release without migrations
-- (SQLAlchemy's DDL of state/schema.py for sqlite). Frozen: tests create an old database from it.
CREATE TABLE connection_health (
	tenant_id VARCHAR(64) NOT NULL, 
	last_ok_at DATETIME, 
	last_error_at DATETIME, 
	last_error TEXT, 
	CONSTRAINT pk_connection_health PRIMARY KEY (tenant_id)
);

CREATE TABLE document_events (
	id INTEGER NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	doc_key VARCHAR(200) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	from_state VARCHAR(16), 
	to_state VARCHAR(16), 
	message TEXT NOT NULL, 
	actor VARCHAR(250), 
	at DATETIME NOT NULL, 
	CONSTRAINT pk_document_events PRIMARY KEY (id)
);

CREATE INDEX ix_document_events_doc ON document_events (tenant_id, stream, doc_key, id);

CREATE TABLE leases (
	name VARCHAR(250) NOT NULL, 
	holder VARCHAR(250) NOT NULL, 
	token VARCHAR(64) NOT NULL, 
	generation INTEGER NOT NULL, 
	acquired_at DATETIME NOT NULL, 
	renewed_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	CONSTRAINT pk_leases PRIMARY KEY (name)
);

CREATE TABLE lexware_status (
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	doc_key VARCHAR(200) NOT NULL, 
	lexware_id VARCHAR(100) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	voucher_number VARCHAR(100), 
	status_changed_at DATETIME NOT NULL, 
	voucher_number_at DATETIME, 
	due_date DATE, 
	checked_at DATETIME NOT NULL, 
	CONSTRAINT pk_lexware_status PRIMARY KEY (tenant_id, stream, doc_key), 
	CONSTRAINT ck_lexware_status_status CHECK (status IN ('draft', 'open', 'sepadebit', 'overdue', 'paid', 'paidoff', 'voided', 'deleted'))
);

CREATE TABLE lexware_status_changes (
	id INTEGER NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	doc_key VARCHAR(200) NOT NULL, 
	lexware_id VARCHAR(100) NOT NULL, 
	old_status VARCHAR(16), 
	new_status VARCHAR(16) NOT NULL, 
	voucher_number VARCHAR(100), 
	changed_at DATETIME NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	run_id VARCHAR(250), 
	CONSTRAINT pk_lexware_status_changes PRIMARY KEY (id)
);

CREATE INDEX ix_lexware_status_changes_doc ON lexware_status_changes (tenant_id, stream, doc_key, id);

CREATE TABLE oauth_pending (
	state VARCHAR(100) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	user_id VARCHAR(250) NOT NULL, 
	code_verifier VARCHAR(200) NOT NULL, 
	redirect_uri TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_oauth_pending PRIMARY KEY (state)
);

CREATE TABLE oauth_tokens (
	"key" VARCHAR(250) NOT NULL, 
	ciphertext TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_oauth_tokens PRIMARY KEY ("key")
);

CREATE TABLE rate_slots (
	"key" VARCHAR(250) NOT NULL, 
	next_at DOUBLE NOT NULL, 
	CONSTRAINT pk_rate_slots PRIMARY KEY ("key")
);

CREATE TABLE runs (
	id INTEGER NOT NULL, 
	run_id VARCHAR(250) NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(32) NOT NULL, 
	counts JSON NOT NULL, 
	message TEXT NOT NULL, 
	CONSTRAINT pk_runs PRIMARY KEY (id), 
	CONSTRAINT uq_runs_run_id_tenant_id_stream UNIQUE (run_id, tenant_id, stream)
);

CREATE INDEX ix_runs_tenant_stream_started ON runs (tenant_id, stream, started_at);

CREATE TABLE tenants (
	tenant_id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	lexoffice_conn_id VARCHAR(250) NOT NULL, 
	invoice_company_id VARCHAR(100), 
	bank_company_id VARCHAR(100), 
	export_since DATE, 
	organization_id VARCHAR(100), 
	auth_mode VARCHAR(16) NOT NULL, 
	connected BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_tenants PRIMARY KEY (tenant_id), 
	CONSTRAINT ck_tenants_auth_mode CHECK (auth_mode IN ('api_key', 'oauth'))
);

CREATE TABLE account_map (
	tenant_id VARCHAR(64) NOT NULL, 
	iban VARCHAR(200) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	financial_account_id VARCHAR(100), 
	content_hash VARCHAR(128), 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	claimed_at DATETIME NOT NULL, 
	created_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_account_map PRIMARY KEY (tenant_id, iban), 
	CONSTRAINT ck_account_map_state CHECK (state IN ('creating', 'created', 'unknown')), 
	CONSTRAINT ck_account_map_created_has_id CHECK (state <> 'created' OR financial_account_id IS NOT NULL), 
	CONSTRAINT fk_account_map_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE connection_periods (
	id INTEGER NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	organization_id VARCHAR(100) NOT NULL, 
	connected_at DATETIME NOT NULL, 
	disconnected_at DATETIME, 
	CONSTRAINT pk_connection_periods PRIMARY KEY (id), 
	CONSTRAINT ck_connection_periods_order CHECK (disconnected_at IS NULL OR disconnected_at >= connected_at), 
	CONSTRAINT fk_connection_periods_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE INDEX ix_connection_periods_tenant ON connection_periods (tenant_id, connected_at);

CREATE UNIQUE INDEX uq_connection_periods_open ON connection_periods (tenant_id) WHERE disconnected_at IS NULL;

CREATE TABLE contact_map (
	tenant_id VARCHAR(64) NOT NULL, 
	customer_key VARCHAR(200) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	lexware_contact_id VARCHAR(100), 
	content_hash VARCHAR(128), 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	claimed_at DATETIME NOT NULL, 
	created_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_contact_map PRIMARY KEY (tenant_id, customer_key), 
	CONSTRAINT ck_contact_map_state CHECK (state IN ('creating', 'created', 'unknown')), 
	CONSTRAINT ck_contact_map_created_has_id CHECK (state <> 'created' OR lexware_contact_id IS NOT NULL), 
	CONSTRAINT fk_contact_map_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE lexware_duplicates (
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	doc_key VARCHAR(200) NOT NULL, 
	lexware_ids JSON NOT NULL, 
	note TEXT NOT NULL, 
	found_at DATETIME NOT NULL, 
	CONSTRAINT pk_lexware_duplicates PRIMARY KEY (tenant_id, stream, doc_key), 
	CONSTRAINT fk_lexware_duplicates_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	tenant_id VARCHAR(64) NOT NULL, 
	stream VARCHAR(32) NOT NULL, 
	doc_key VARCHAR(200) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	content_hash VARCHAR(128) NOT NULL, 
	payload JSON, 
	reasons JSON NOT NULL, 
	source_ref TEXT NOT NULL, 
	event_time DATETIME NOT NULL, 
	group_key VARCHAR(200), 
	sort_key VARCHAR(200) DEFAULT '' NOT NULL, 
	related JSON NOT NULL, 
	lexware_id VARCHAR(100), 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	sending_started_at DATETIME, 
	sent_at DATETIME, 
	last_error TEXT, 
	changed_after_send BOOLEAN DEFAULT 0 NOT NULL, 
	changed_hash VARCHAR(128), 
	staged_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	run_id VARCHAR(250), 
	CONSTRAINT pk_outbox PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_tenant_id_stream_doc_key UNIQUE (tenant_id, stream, doc_key), 
	CONSTRAINT ck_outbox_state CHECK (state IN ('invalid', 'pending', 'sending', 'sent', 'rejected', 'unknown')), 
	CONSTRAINT fk_outbox_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE INDEX ix_outbox_state_order ON outbox (tenant_id, stream, state, id);

CREATE TABLE source_account_map (
	tenant_id VARCHAR(64) NOT NULL, 
	account_key VARCHAR(200) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	financial_account_id VARCHAR(100), 
	content_hash VARCHAR(128), 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	claimed_at DATETIME NOT NULL, 
	created_at DATETIME, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_source_account_map PRIMARY KEY (tenant_id, account_key), 
	CONSTRAINT ck_source_account_map_state CHECK (state IN ('creating', 'created', 'unknown')), 
	CONSTRAINT ck_source_account_map_created_has_id CHECK (state <> 'created' OR financial_account_id IS NOT NULL), 
	CONSTRAINT fk_source_account_map_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE status_writeback (
	tenant_id VARCHAR(64) NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_status_writeback PRIMARY KEY (tenant_id), 
	CONSTRAINT fk_status_writeback_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);

CREATE TABLE tenant_settings (
	tenant_id VARCHAR(64) NOT NULL, 
	send_mode VARCHAR(16) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_tenant_settings PRIMARY KEY (tenant_id), 
	CONSTRAINT ck_tenant_settings_send_mode CHECK (send_mode IN ('requested', 'all')), 
	CONSTRAINT fk_tenant_settings_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (tenant_id) ON DELETE RESTRICT
);
