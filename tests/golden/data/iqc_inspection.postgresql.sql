CREATE TABLE iqc_inspection (
	id BIGSERIAL NOT NULL, 
	row_version INTEGER DEFAULT '1' NOT NULL, 
	form_version INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_by INTEGER, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_by INTEGER, 
	department_id INTEGER, 
	deleted_at TIMESTAMP WITH TIME ZONE, 
	code VARCHAR(64), 
	supplier BIGINT, 
	material BIGINT, 
	lot_no VARCHAR(40), 
	qty NUMERIC(12, 3), 
	sample_size BIGINT, 
	result VARCHAR(64), 
	inspected_on DATE, 
	inspector INTEGER, 
	remarks TEXT, 
	unit_cost NUMERIC(12, 2), 
	PRIMARY KEY (id), 
	FOREIGN KEY(created_by) REFERENCES mom_user (id), 
	FOREIGN KEY(updated_by) REFERENCES mom_user (id), 
	FOREIGN KEY(department_id) REFERENCES mom_department (id), 
	FOREIGN KEY(supplier) REFERENCES supplier (id) ON DELETE RESTRICT, 
	FOREIGN KEY(material) REFERENCES item (id) ON DELETE RESTRICT, 
	FOREIGN KEY(inspector) REFERENCES mom_user (id)
)

CREATE INDEX ix_iqc_inspection_432a51f2fa ON iqc_inspection (supplier)

CREATE INDEX ix_iqc_inspection_b9fd3ea12a ON iqc_inspection (material)

CREATE INDEX ix_iqc_inspection_cd82c145c6 ON iqc_inspection (supplier, lot_no)

CREATE INDEX ix_iqc_inspection_f0c26f8130 ON iqc_inspection (inspector)

CREATE INDEX ix_iqc_inspection_f595c30bb4 ON iqc_inspection (inspected_on)

CREATE UNIQUE INDEX ux_iqc_inspection_3a7c53873e ON iqc_inspection (code) WHERE deleted_at IS NULL

CREATE TABLE iqc_inspection__readings (
	id BIGSERIAL NOT NULL, 
	parent_id BIGINT NOT NULL, 
	seq INTEGER NOT NULL, 
	characteristic VARCHAR(255), 
	value NUMERIC(14, 4), 
	lsl NUMERIC(14, 4), 
	usl NUMERIC(14, 4), 
	ok BOOLEAN, 
	PRIMARY KEY (id), 
	FOREIGN KEY(parent_id) REFERENCES iqc_inspection (id) ON DELETE CASCADE
)

CREATE INDEX ix_iqc_inspection__readings_6bab74976a ON iqc_inspection__readings (parent_id, seq)
