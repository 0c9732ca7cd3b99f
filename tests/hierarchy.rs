//! Hubs above hubs: a commune node under a district hub under the province
//! hub, with devices at every level.

use std::time::Duration;

use motcua_tests::{HubOptions, HubProcess, eventually};

fn codes(device: &motcua_tests::Device) -> Vec<String> {
    let mut codes: Vec<String> = device
        .list()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect();
    codes.sort();
    codes
}

#[test]
fn dossiers_flow_up_and_down_three_levels_and_devices_anywhere_see_the_same() -> anyhow::Result<()>
{
    let province = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let district = HubProcess::start_below(&province, "H0110")?;
    let commune = HubProcess::start_below(&district, "X0111")?;

    let counter = commune.enrol_device("X0111")?;
    let counter2 = commune.enrol_device("X0111")?;
    let at_district = district.enrol_device("X0111")?;
    let leader = province.enrol_device("T01")?;

    // Received at the commune counter, offline, then synced with the node.
    let a = counter.receive("1.004873", "Nguyễn Văn An")?;
    let b = counter.receive("1.001193", "Lê Thị Bình")?;
    counter.sync()?;
    // It reaches the province through the district.
    eventually(Duration::from_secs(30), || {
        leader.sync()?;
        Ok(codes(&leader).contains(&a) && codes(&leader).contains(&b))
    })?;
    // A province specialist records a stage; it comes down to the counter.
    leader.stage(&a, "processing")?;
    leader.sync()?;
    eventually(Duration::from_secs(30), || {
        counter.sync()?;
        Ok(counter.show(&a)?["progress"]["current"] == "processing")
    })?;
    // A tablet pointed at the district directly sees the same data, and
    // issues codes that never collide with the node's.
    let c = at_district.receive("1.001193", "Trần Văn Cường")?;
    at_district.sync()?;
    // Each level hands out its own share of the code slots (see codes.rs).
    let slot = |code: &str| {
        code.rsplit('-')
            .next()
            .and_then(|n| n.parse::<u16>().ok())
            .map(|n| n / 100)
    };
    assert!(slot(&a).is_some_and(|s| (80..95).contains(&s)), "{a}");
    assert!(slot(&c).is_some_and(|s| (50..80).contains(&s)), "{c}");
    eventually(Duration::from_secs(30), || {
        counter.sync()?;
        at_district.sync()?;
        Ok(counter.heads(Some("X0111"))? == at_district.heads(Some("X0111"))?)
    })?;
    assert!(codes(&counter).contains(&c));

    // Configuration from the top reached the counter, read-only.
    let state = motcua_tests::motcua_json(&["state", "--data", &counter.data()])?;
    let configs = state["documents"]
        .as_object()
        .map(|d| d.values().filter(|v| v["code"].is_null()).count())
        .unwrap_or(0);
    assert_eq!(configs, 3, "units, catalogue and calendar");

    // With the district down, the commune's tablets keep syncing through the node.
    drop(district);
    let d = counter.receive("2.000815", "Phạm Thị Dung")?;
    counter.sync()?;
    counter2.sync()?;
    assert!(codes(&counter2).contains(&d));
    assert!(!codes(&leader).contains(&d));

    // Every replica of the commune's scope agrees, at every level.
    let node_heads = commune.heads(Some("X0111"))?;
    assert_eq!(counter.heads(Some("X0111"))?, node_heads);
    assert_eq!(counter2.heads(Some("X0111"))?, node_heads);
    assert!(
        commune.admin(&["verify"])?["problems"]
            .as_array()
            .is_some_and(|p| p.is_empty())
    );
    assert!(
        province.admin(&["verify"])?["problems"]
            .as_array()
            .is_some_and(|p| p.is_empty())
    );
    Ok(())
}

#[test]
fn a_tablet_of_another_commune_behind_a_node_sees_nothing_of_this_one() -> anyhow::Result<()> {
    let province = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let tan_phong = HubProcess::start_below(&province, "X0101")?;
    let dong_hoa_tablet = province.enrol_device("X0102")?;
    let tan_phong_tablet = tan_phong.enrol_device("X0101")?;
    let code = tan_phong_tablet.receive("1.001193", "Hồ Thị Giang")?;
    tan_phong_tablet.sync()?;
    eventually(Duration::from_secs(30), || {
        Ok(province.heads(Some("X0101"))?.len() == 1)
    })?;
    dong_hoa_tablet.sync()?;
    assert!(!codes(&dong_hoa_tablet).contains(&code));
    assert!(codes(&dong_hoa_tablet).is_empty());
    Ok(())
}
