-- One database per service (each service owns its data; none reads another's).
-- Run once by the postgres image when its data volume is empty.
CREATE DATABASE bitloot_payments;
CREATE DATABASE bitloot_kinguin_gateway;
CREATE DATABASE bitloot_fulfillment;
CREATE DATABASE bitloot_delivery;
CREATE DATABASE bitloot_admin;
