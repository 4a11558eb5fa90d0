-- The example LIS of schema.postgresql.sql for MariaDB (10.3+: sequences): AUTO_INCREMENT
-- keys, two numeric(10,0) keys drawn from sequences, DATETIME(6), UUIDs in CHAR(36).
CREATE SEQUENCE person_seq;
CREATE SEQUENCE contact_seq;

CREATE TABLE identity_type (
    id          INT PRIMARY KEY,
    code        VARCHAR(20) NOT NULL UNIQUE,
    description VARCHAR(60)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE address_part (
    id            INT PRIMARY KEY,
    part_name     VARCHAR(20) NOT NULL UNIQUE,
    display_order INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE person (
    id          DECIMAL(10,0) PRIMARY KEY DEFAULT NEXTVAL(person_seq),
    last_name   VARCHAR(60) NOT NULL,
    first_name  VARCHAR(60) NOT NULL,
    civility    CHAR(4),
    updated_at  DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE patient (
    id                 INT AUTO_INCREMENT PRIMARY KEY,
    person_id          DECIMAL(10,0) NOT NULL,
    sex                CHAR(1) NOT NULL,
    birth_date         DATETIME NOT NULL,
    entered_birth_date VARCHAR(10),
    external_id        VARCHAR(20) NOT NULL UNIQUE,
    fhir_uuid          CHAR(36) NOT NULL UNIQUE,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         DATETIME(6) NOT NULL,
    FOREIGN KEY (person_id) REFERENCES person (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE patient_identity (
    id               BIGINT AUTO_INCREMENT PRIMARY KEY,
    patient_id       INT NOT NULL,
    identity_type_id INT NOT NULL,
    identity_data    VARCHAR(255) NOT NULL,
    updated_at       DATETIME(6) NOT NULL,
    FOREIGN KEY (patient_id) REFERENCES patient (id),
    FOREIGN KEY (identity_type_id) REFERENCES identity_type (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE person_address (
    person_id       DECIMAL(10,0) NOT NULL,
    address_part_id INT NOT NULL,
    type            CHAR(1) NOT NULL DEFAULT 'D',
    value           VARCHAR(120) NOT NULL,
    PRIMARY KEY (person_id, address_part_id),
    FOREIGN KEY (person_id) REFERENCES person (id),
    FOREIGN KEY (address_part_id) REFERENCES address_part (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE contact (
    id         DECIMAL(10,0) PRIMARY KEY DEFAULT NEXTVAL(contact_seq),
    person_id  DECIMAL(10,0) NOT NULL,
    kind       VARCHAR(10) NOT NULL,
    value      VARCHAR(120) NOT NULL,
    FOREIGN KEY (person_id) REFERENCES person (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
