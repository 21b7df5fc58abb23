//! The one integration-test binary (each test binary links polars: seconds
//! and gigabytes). Modules by topic.

mod bhyt;
mod cli;
mod common;
mod corpus;
mod departments;
mod formats;
mod html;
mod land;
mod land_rules;
mod layers;
mod legacy;
mod limits;
mod livestock;
mod livestock_rules;
mod nightly;
mod privacy;
mod province;
mod report;
mod safety;
mod statistician;
mod vneid;
mod vneid_rules;
mod zones;
