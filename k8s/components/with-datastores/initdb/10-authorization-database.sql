-- The authorization server's database; the audit log's is POSTGRES_DB. Both belong to the gateway's user.
CREATE DATABASE eligibility_gateway_authorization OWNER eligibility_gateway;
