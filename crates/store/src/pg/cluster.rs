//! Cluster membership and leases over PostgreSQL. (helper C)
