-- The audit index as create_all made it at commit f4a8adc (before migrations), with its cursor and a block.
BEGIN TRANSACTION;
CREATE TABLE meta (
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO meta VALUES('chain_id','31337');
INSERT INTO meta VALUES('last_block','12');
CREATE TABLE blocks (
	number INTEGER NOT NULL, 
	hash VARCHAR NOT NULL, 
	timestamp BIGINT NOT NULL, 
	PRIMARY KEY (number)
);
INSERT INTO blocks VALUES(12,'0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',1700000000);
CREATE TABLE events (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	id INTEGER NOT NULL, 
	block_hash VARCHAR NOT NULL, 
	contract VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	args VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_events_log UNIQUE (tx_hash, log_index)
);
CREATE TABLE participant_events (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	id INTEGER NOT NULL, 
	address VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	roles INTEGER, 
	jurisdiction VARCHAR, 
	credential_hash VARCHAR, 
	"by" VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_participant_events_log UNIQUE (tx_hash, log_index)
);
CREATE TABLE assets (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	provider VARCHAR NOT NULL, 
	size BIGINT NOT NULL, 
	metadata_hash VARCHAR NOT NULL, 
	metadata_uri VARCHAR NOT NULL, 
	owners VARCHAR NOT NULL, 
	shares_bps VARCHAR NOT NULL, 
	PRIMARY KEY (asset_id)
);
CREATE TABLE asset_versions (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	previous_id VARCHAR NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (asset_id)
);
CREATE TABLE asset_deactivations (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	"by" VARCHAR NOT NULL, 
	PRIMARY KEY (asset_id)
);
CREATE TABLE lineage (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	child_id VARCHAR NOT NULL, 
	parent_id VARCHAR NOT NULL, 
	PRIMARY KEY (child_id, parent_id)
);
CREATE TABLE policies (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	id INTEGER NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	epoch INTEGER NOT NULL, 
	not_before BIGINT NOT NULL, 
	not_after BIGINT NOT NULL, 
	max_count INTEGER NOT NULL, 
	price_per_access VARCHAR NOT NULL, 
	compute_only BOOLEAN NOT NULL, 
	auto_approve BOOLEAN NOT NULL, 
	purposes VARCHAR NOT NULL, 
	jurisdictions VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_policies_log UNIQUE (tx_hash, log_index)
);
CREATE TABLE grants (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	grant_id VARCHAR NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	consumer VARCHAR NOT NULL, 
	purpose VARCHAR NOT NULL, 
	not_before BIGINT NOT NULL, 
	not_after BIGINT NOT NULL, 
	max_count INTEGER NOT NULL, 
	price_per_access VARCHAR NOT NULL, 
	nonce VARCHAR NOT NULL, 
	deadline BIGINT NOT NULL, 
	signature VARCHAR NOT NULL, 
	PRIMARY KEY (grant_id)
);
CREATE TABLE revocations (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	grant_id VARCHAR NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	"by" VARCHAR NOT NULL, 
	PRIMARY KEY (grant_id)
);
CREATE TABLE root_anchors (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	provider VARCHAR NOT NULL, 
	root VARCHAR NOT NULL, 
	anchorer VARCHAR NOT NULL, 
	leaf_count INTEGER NOT NULL, 
	kind INTEGER NOT NULL, 
	PRIMARY KEY (provider, root)
);
CREATE TABLE settlements (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	id INTEGER NOT NULL, 
	grant_id VARCHAR NOT NULL, 
	asset_id VARCHAR NOT NULL, 
	consumer VARCHAR NOT NULL, 
	count INTEGER NOT NULL, 
	amount VARCHAR NOT NULL, 
	usage_root VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_settlements_log UNIQUE (tx_hash, log_index)
);
CREATE TABLE revenue (
	block_number INTEGER NOT NULL, 
	tx_hash VARCHAR NOT NULL, 
	log_index INTEGER NOT NULL, 
	timestamp BIGINT NOT NULL, 
	id INTEGER NOT NULL, 
	grant_id VARCHAR NOT NULL, 
	owner VARCHAR NOT NULL, 
	amount VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_revenue_log UNIQUE (tx_hash, log_index)
);
CREATE INDEX ix_events_block_number ON events (block_number);
CREATE INDEX ix_events_name ON events (name);
CREATE INDEX ix_participant_events_block_number ON participant_events (block_number);
CREATE INDEX ix_participant_events_address ON participant_events (address);
CREATE INDEX ix_assets_block_number ON assets (block_number);
CREATE INDEX ix_assets_provider ON assets (provider);
CREATE INDEX ix_asset_versions_block_number ON asset_versions (block_number);
CREATE INDEX ix_asset_versions_previous_id ON asset_versions (previous_id);
CREATE INDEX ix_asset_deactivations_block_number ON asset_deactivations (block_number);
CREATE INDEX ix_lineage_parent_id ON lineage (parent_id);
CREATE INDEX ix_lineage_block_number ON lineage (block_number);
CREATE INDEX ix_policies_block_number ON policies (block_number);
CREATE INDEX ix_policies_asset_id ON policies (asset_id);
CREATE INDEX ix_grants_asset_id ON grants (asset_id);
CREATE INDEX ix_grants_consumer ON grants (consumer);
CREATE INDEX ix_grants_block_number ON grants (block_number);
CREATE INDEX ix_revocations_block_number ON revocations (block_number);
CREATE INDEX ix_revocations_asset_id ON revocations (asset_id);
CREATE INDEX ix_root_anchors_block_number ON root_anchors (block_number);
CREATE INDEX ix_root_anchors_root ON root_anchors (root);
CREATE INDEX ix_root_anchors_anchorer ON root_anchors (anchorer);
CREATE INDEX ix_settlements_block_number ON settlements (block_number);
CREATE INDEX ix_settlements_asset_id ON settlements (asset_id);
CREATE INDEX ix_settlements_grant_id ON settlements (grant_id);
CREATE INDEX ix_settlements_consumer ON settlements (consumer);
CREATE INDEX ix_revenue_owner ON revenue (owner);
CREATE INDEX ix_revenue_grant_id ON revenue (grant_id);
CREATE INDEX ix_revenue_block_number ON revenue (block_number);
COMMIT;
