-- A state.db made by the code before migrations (main at 458282d: StateStore.create_all, i.e. SQLModel's
-- metadata.create_all, then state_seed.seed_every_table through the store API), dumped with sqlite3 iterdump.
BEGIN TRANSACTION;
CREATE TABLE account_balances (
	id INTEGER NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	asset VARCHAR(20) NOT NULL, 
	total_balance VARCHAR(60) NOT NULL, 
	available_balance VARCHAR(60) NOT NULL, 
	locked_balance VARCHAR(60) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	journal_seq BIGINT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_account_balances_account_asset UNIQUE (account_id, asset), 
	FOREIGN KEY(account_id) REFERENCES trading_accounts (id)
);
INSERT INTO "account_balances" VALUES(1,'main','USDT','12345678901234.123456789012345678','12345678901234.123456789012345677','0.000000000000000001','2023-11-14 22:13:20.000000',NULL);
INSERT INTO "account_balances" VALUES(2,'main','BTC','0.3','0.3','0','2023-11-14 22:13:20.000000',NULL);
CREATE TABLE orders (
	id VARCHAR(64) NOT NULL, 
	client_order_id VARCHAR(64), 
	account_id VARCHAR(64) NOT NULL, 
	strategy VARCHAR(255), 
	symbol VARCHAR(40) NOT NULL, 
	side VARCHAR(10) NOT NULL, 
	order_type VARCHAR(20) NOT NULL, 
	quantity VARCHAR(60) NOT NULL, 
	price VARCHAR(60), 
	stop_price VARCHAR(60), 
	time_in_force VARCHAR(10) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	filled_quantity VARCHAR(60) NOT NULL, 
	average_price VARCHAR(60), 
	fee VARCHAR(60) NOT NULL, 
	fee_currency VARCHAR(20), 
	post_only BOOLEAN NOT NULL, 
	reduce_only BOOLEAN NOT NULL, 
	parent_order_id VARCHAR(64), 
	params JSON, 
	reason TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	expires_at DATETIME, 
	journal_seq BIGINT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_orders_account_client_order_id UNIQUE (account_id, client_order_id), 
	FOREIGN KEY(account_id) REFERENCES trading_accounts (id)
);
INSERT INTO "orders" VALUES('O-1','c-1','main','sma','BTC/USDT','BUY','LIMIT','0.3','12345678901234.123456789012345678',NULL,'GTC','FILLED','0.3',NULL,'0',NULL,0,0,NULL,'{"display":"0.1"}',NULL,'2023-11-14 22:13:20.000000','2023-11-14 22:13:20.000000',NULL,7);
INSERT INTO "orders" VALUES('O-2',NULL,'main',NULL,'ETH/USDT','SELL','STOP','2',NULL,'1500.5','GTC','ACCEPTED','0',NULL,'0',NULL,0,0,NULL,'null',NULL,'2023-11-14 22:13:20.000000','2023-11-14 22:13:20.000000',NULL,NULL);
INSERT INTO "orders" VALUES('O-3',NULL,'alt',NULL,'BTC/USDT','BUY','MARKET','1',NULL,NULL,'GTC','REJECTED','0',NULL,'0',NULL,0,0,NULL,'null','insufficient funds','2023-11-14 22:13:20.000000','2023-11-14 22:13:20.000000',NULL,NULL);
CREATE TABLE positions (
	id INTEGER NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	symbol VARCHAR(40) NOT NULL, 
	quantity VARCHAR(60) NOT NULL, 
	average_price VARCHAR(60) NOT NULL, 
	market_value VARCHAR(60), 
	unrealized_pnl VARCHAR(60), 
	realized_pnl VARCHAR(60) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	journal_seq BIGINT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_positions_account_symbol UNIQUE (account_id, symbol), 
	FOREIGN KEY(account_id) REFERENCES trading_accounts (id)
);
INSERT INTO "positions" VALUES(1,'main','BTC/USDT','0.3','100.666666666666666667',NULL,NULL,'0','2023-11-14 22:13:20.000000',NULL);
CREATE TABLE projection_meta (
	id VARCHAR(32) NOT NULL, 
	journal_id VARCHAR(64) NOT NULL, 
	applied_seq BIGINT NOT NULL, 
	applied_digest VARCHAR(64) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "projection_meta" VALUES('journal','journal-1',42,'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd','2023-11-14 22:13:20.000000');
CREATE TABLE risk_alerts (
	id INTEGER NOT NULL, 
	time DATETIME NOT NULL, 
	severity VARCHAR(10) NOT NULL, 
	rule VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	account_id VARCHAR(64), 
	strategy VARCHAR(255), 
	symbol VARCHAR(40), 
	value VARCHAR(60), 
	threshold VARCHAR(60), 
	acknowledged BOOLEAN NOT NULL, 
	acknowledged_at DATETIME, 
	acknowledged_by VARCHAR(255), 
	PRIMARY KEY (id)
);
INSERT INTO "risk_alerts" VALUES(1,'2023-11-14 22:13:20.000000','WARNING','max_daily_loss','80% used',NULL,NULL,NULL,'320','400',0,NULL,NULL);
CREATE TABLE risk_limit_changes (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	scope VARCHAR(20) NOT NULL, 
	scope_id VARCHAR(255) NOT NULL, 
	old_value VARCHAR(60), 
	new_value VARCHAR(60), 
	changed_by VARCHAR(255) NOT NULL, 
	changed_at DATETIME NOT NULL, 
	reason TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "risk_limit_changes" VALUES(1,'max_daily_loss','global','*',NULL,'500','ann','2023-11-14 22:13:20.000000','desk rule');
INSERT INTO "risk_limit_changes" VALUES(2,'max_daily_loss','global','*','500','400','bob','2023-11-14 22:13:20.000000',NULL);
CREATE TABLE risk_limits (
	id INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	scope VARCHAR(20) NOT NULL, 
	scope_id VARCHAR(255) NOT NULL, 
	value VARCHAR(60) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(255) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_risk_limits_scope_name UNIQUE (scope, scope_id, name)
);
INSERT INTO "risk_limits" VALUES(1,'max_daily_loss','global','*','400','2023-11-14 22:13:20.000000','bob');
CREATE TABLE scheduled_jobs (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	schedule VARCHAR(100) NOT NULL, 
	command TEXT NOT NULL, 
	args JSON, 
	enabled BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	next_run_at DATETIME, 
	last_run_at DATETIME, 
	last_status VARCHAR(20), 
	last_error TEXT, 
	run_count INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "scheduled_jobs" VALUES('nightly','nightly','0 2 * * *','backtest','{"symbol":"BTC"}',1,'2023-11-14 22:13:20.000000','2023-11-14 22:13:20.000000',NULL,NULL,NULL,NULL,0);
CREATE TABLE strategy_executions (
	id INTEGER NOT NULL, 
	strategy_id INTEGER NOT NULL, 
	execution_type VARCHAR(20) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	config JSON, 
	results JSON, 
	error TEXT, 
	started_at DATETIME, 
	completed_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(strategy_id) REFERENCES trading_strategies (id)
);
INSERT INTO "strategy_executions" VALUES(1,1,'backtest','COMPLETED','null','{"pnl":"12.5"}',NULL,'2023-11-14 22:13:20.000000','2023-11-14 22:13:21.000000','2023-11-14 22:13:20.000000');
CREATE TABLE trades (
	id VARCHAR(64) NOT NULL, 
	order_id VARCHAR(64) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	strategy VARCHAR(255), 
	symbol VARCHAR(40) NOT NULL, 
	side VARCHAR(10) NOT NULL, 
	quantity VARCHAR(60) NOT NULL, 
	price VARCHAR(60) NOT NULL, 
	fee VARCHAR(60) NOT NULL, 
	fee_currency VARCHAR(20), 
	trade_type VARCHAR(10), 
	realized_pnl VARCHAR(60) NOT NULL, 
	timestamp DATETIME NOT NULL, 
	journal_seq BIGINT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(order_id) REFERENCES orders (id), 
	FOREIGN KEY(account_id) REFERENCES trading_accounts (id)
);
INSERT INTO "trades" VALUES('T-1','O-1','main','sma','BTC/USDT','BUY','0.1','100','0.000000000000000001','USDT','MAKER','0','2023-11-14 22:13:20.000000',NULL);
INSERT INTO "trades" VALUES('T-2','O-1','main','sma','BTC/USDT','BUY','0.2','101','0',NULL,NULL,'-3.25','2023-11-14 22:13:20.000000',NULL);
CREATE TABLE trading_accounts (
	id VARCHAR(64) NOT NULL, 
	account_type VARCHAR(20) NOT NULL, 
	exchange VARCHAR(50) NOT NULL, 
	base_currency VARCHAR(20), 
	is_active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "trading_accounts" VALUES('main','spot','SIM','USDT',1,'2023-11-14 22:13:20.000000');
INSERT INTO "trading_accounts" VALUES('alt','margin','binance',NULL,1,'2023-11-14 22:13:20.000000');
CREATE TABLE trading_strategies (
	id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	description TEXT, 
	strategy_type VARCHAR(50) NOT NULL, 
	config JSON NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	performance JSON, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO "trading_strategies" VALUES(1,'sma',NULL,'sma_cross','{"fast":10,"slow":20}','INACTIVE','null','2023-11-14 22:13:20.000000','2023-11-14 22:13:20.000000');
CREATE INDEX ix_risk_limit_changes_changed_at ON risk_limit_changes (changed_at);
CREATE INDEX ix_risk_alerts_time ON risk_alerts (time);
CREATE INDEX ix_orders_strategy ON orders (strategy);
CREATE INDEX ix_orders_created_at ON orders (created_at);
CREATE INDEX idx_orders_account_created ON orders (account_id, created_at);
CREATE INDEX ix_orders_symbol ON orders (symbol);
CREATE INDEX ix_orders_status ON orders (status);
CREATE INDEX ix_strategy_executions_strategy_id ON strategy_executions (strategy_id);
CREATE INDEX ix_trades_strategy ON trades (strategy);
CREATE INDEX ix_trades_symbol ON trades (symbol);
CREATE INDEX ix_trades_timestamp ON trades (timestamp);
CREATE INDEX ix_trades_order_id ON trades (order_id);
COMMIT;
