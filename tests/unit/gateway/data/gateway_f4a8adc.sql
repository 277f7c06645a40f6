-- The gateway database as create_all made it at commit f4a8adc (before migrations), with a few rows:
-- access records with purpose '' / NULL whose grant request is known (1, 2) or not (3), one with its own (4).
BEGIN TRANSACTION;
CREATE TABLE grant_requests (
	grant_id VARCHAR(66) NOT NULL, 
	asset_id VARCHAR(66) NOT NULL, 
	consumer VARCHAR(42) NOT NULL, 
	purpose VARCHAR NOT NULL, 
	request_json VARCHAR NOT NULL, 
	signature VARCHAR NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	reason VARCHAR NOT NULL, 
	tx VARCHAR NOT NULL, 
	created_at FLOAT NOT NULL, 
	updated_at FLOAT NOT NULL, 
	PRIMARY KEY (grant_id)
);
INSERT INTO grant_requests VALUES('0x1111111111111111111111111111111111111111111111111111111111111111','0x2222222222222222222222222222222222222222222222222222222222222222','0x3333333333333333333333333333333333333333','research','{}','0x','issued','','',1700000000.0,1700000000.0);
CREATE TABLE used_nonces (
	signer VARCHAR(42) NOT NULL, 
	nonce VARCHAR(80) NOT NULL, 
	expiry BIGINT NOT NULL, 
	PRIMARY KEY (signer, nonce)
);
CREATE TABLE access_records (
	id INTEGER NOT NULL, 
	at FLOAT NOT NULL, 
	decision VARCHAR(8) NOT NULL, 
	code VARCHAR(40) NOT NULL, 
	method VARCHAR(8) NOT NULL, 
	path VARCHAR(512) NOT NULL, 
	consumer VARCHAR(42), 
	asset_id VARCHAR(66), 
	grant_id VARCHAR(66), 
	purpose VARCHAR, 
	bytes BIGINT NOT NULL, 
	content_hash VARCHAR(66), 
	block BIGINT, 
	requested BIGINT NOT NULL, 
	streaming BOOLEAN NOT NULL, 
	checkpoint_at FLOAT, 
	PRIMARY KEY (id)
);
INSERT INTO access_records VALUES(1,1700000001.0,'allow','ok','GET','/assets/0x2222222222222222222222222222222222222222222222222222222222222222/data','0x3333333333333333333333333333333333333333','0x2222222222222222222222222222222222222222222222222222222222222222','0x1111111111111111111111111111111111111111111111111111111111111111','',5,NULL,7,5,0,NULL);
INSERT INTO access_records VALUES(2,1700000002.0,'deny','count_exhausted','GET','/assets/0x2222222222222222222222222222222222222222222222222222222222222222/data','0x3333333333333333333333333333333333333333','0x2222222222222222222222222222222222222222222222222222222222222222','0x1111111111111111111111111111111111111111111111111111111111111111',NULL,0,NULL,8,0,0,NULL);
INSERT INTO access_records VALUES(3,1700000003.0,'deny','grant_unknown','GET','/assets/0x2222222222222222222222222222222222222222222222222222222222222222/data','0x3333333333333333333333333333333333333333','0x2222222222222222222222222222222222222222222222222222222222222222','0x4444444444444444444444444444444444444444444444444444444444444444','',0,NULL,9,0,0,NULL);
INSERT INTO access_records VALUES(4,1700000004.0,'allow','ok','GET','/assets/0x2222222222222222222222222222222222222222222222222222222222222222/data','0x3333333333333333333333333333333333333333','0x2222222222222222222222222222222222222222222222222222222222222222','0x1111111111111111111111111111111111111111111111111111111111111111','audit',5,NULL,10,5,0,NULL);
CREATE TABLE usage_counters (
	grant_id VARCHAR(66) NOT NULL, 
	used INTEGER NOT NULL, 
	max_count INTEGER NOT NULL, 
	PRIMARY KEY (grant_id)
);
INSERT INTO usage_counters VALUES('0x1111111111111111111111111111111111111111111111111111111111111111',1,3);
CREATE TABLE incidents (
	id INTEGER NOT NULL, 
	at FLOAT NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	asset_id VARCHAR(66), 
	detail VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO incidents VALUES(1,1700000006.0,'tampered','0x2222222222222222222222222222222222222222222222222222222222222222','');
CREATE TABLE ledger_epochs (
	ledger_id VARCHAR(16) NOT NULL, 
	first_access_id BIGINT NOT NULL, 
	created_at FLOAT NOT NULL, 
	reconciled_at FLOAT, 
	replay_floor BIGINT NOT NULL, 
	PRIMARY KEY (ledger_id), 
	UNIQUE (first_access_id)
);
INSERT INTO ledger_epochs VALUES('0badc0de',1,1700000000.0,NULL,0);
CREATE TABLE notary_batches (
	id INTEGER NOT NULL, 
	root VARCHAR(66) NOT NULL, 
	leaf_count INTEGER NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	anchor_tx VARCHAR(66), 
	anchor_block INTEGER, 
	created_at FLOAT NOT NULL, 
	anchored_at FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (root)
);
INSERT INTO notary_batches VALUES(1,'0xabababababababababababababababababababababababababababababababab',1,'sealed',NULL,NULL,1700000005.0,NULL);
CREATE TABLE notary_batch_members (
	access_id INTEGER NOT NULL, 
	batch_id INTEGER NOT NULL, 
	leaf_index INTEGER NOT NULL, 
	receipt_json VARCHAR NOT NULL, 
	PRIMARY KEY (access_id)
);
INSERT INTO notary_batch_members VALUES(1,1,0,'{}');
CREATE TABLE notary_restored (
	receipt_id VARCHAR(48) NOT NULL, 
	batch_id INTEGER NOT NULL, 
	leaf_index INTEGER NOT NULL, 
	grant_id VARCHAR(66) NOT NULL, 
	consumer VARCHAR(42) NOT NULL, 
	allowed BOOLEAN NOT NULL, 
	receipt_json VARCHAR NOT NULL, 
	PRIMARY KEY (receipt_id)
);
CREATE TABLE notary_lease (
	id INTEGER NOT NULL, 
	holder VARCHAR(64) NOT NULL, 
	until FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_grant_requests_asset_id ON grant_requests (asset_id);
CREATE INDEX ix_grant_requests_consumer ON grant_requests (consumer);
CREATE INDEX ix_grant_requests_state ON grant_requests (state);
CREATE INDEX ix_used_nonces_expiry ON used_nonces (expiry);
CREATE INDEX ix_access_records_asset_id ON access_records (asset_id);
CREATE INDEX ix_access_records_consumer ON access_records (consumer);
CREATE INDEX ix_access_records_at ON access_records (at);
CREATE INDEX ix_access_records_streaming ON access_records (streaming);
CREATE INDEX ix_access_records_grant_id ON access_records (grant_id);
CREATE INDEX ix_notary_batches_state ON notary_batches (state);
CREATE INDEX ix_notary_batch_members_batch_id ON notary_batch_members (batch_id);
CREATE INDEX ix_notary_restored_consumer ON notary_restored (consumer);
CREATE INDEX ix_notary_restored_grant_id ON notary_restored (grant_id);
CREATE INDEX ix_notary_restored_batch_id ON notary_restored (batch_id);
COMMIT;
