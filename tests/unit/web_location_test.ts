/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Location sharing as data: geo: URIs (RFC 5870), Web Mercator tile maths, the tile template,
 * `/config.json`'s map settings, and location message contents (the spec's fields and
 * MSC3488's blocks Element reads and sends).
 */

import {
  formatGeoUri,
  inLuxembourg,
  isMapLinkTemplate,
  parseGeoUri,
  webMapUrl,
} from "../../web/src/state/geo_uri.ts";
import {
  DEFAULT_MAP_SETTINGS,
  isTileTemplate,
  layoutView,
  mapSettingsFrom,
  MAX_LATITUDE,
  metresPerPixel,
  pointInView,
  project,
  tileAt,
  tileUrl,
  unproject,
} from "../../web/src/state/map_tiles.ts";
import {
  DEFAULT_CENTER,
  locationContent,
  LocationModel,
  parseLocationContent,
  ShareLocationForm,
} from "../../web/src/state/location.ts";
import { assert, assertEquals } from "./assert.ts";

const near = (a: number, b: number, epsilon = 1e-9) => Math.abs(a - b) <= epsilon;

Deno.test("web location: geo URIs are read and written", () => {
  assertEquals(parseGeoUri("geo:49.6116,6.1319;u=20"), {
    latitude: 49.6116,
    longitude: 6.1319,
    accuracy: 20,
  });
  assertEquals(parseGeoUri("GEO:-33.8,151.2,12.5"), {
    latitude: -33.8,
    longitude: 151.2,
    altitude: 12.5,
  });
  assertEquals(parseGeoUri("geo:49.6,6.1;crs=WGS84;u=3.5;foo=bar")?.accuracy, 3.5);
  for (
    const bad of [
      "geo:91,0",
      "geo:0,181",
      "geo:1",
      "geo:a,b",
      "geo:1,2,3,4",
      "geo:1,2;crs=epsg:3857",
      "geo:1,2;u=-1",
      "geo:1e3,2",
      "https://example.org",
      "",
    ]
  ) {
    assertEquals(parseGeoUri(bad), null, bad);
  }
  assertEquals(
    formatGeoUri({ latitude: 49.61160012345, longitude: 6.1319, accuracy: 12.2 }),
    "geo:49.6116,6.1319;u=13",
  );
  assertEquals(formatGeoUri({ latitude: -1.5, longitude: 0, altitude: 300.04 }), "geo:-1.5,0,300");
  const point = { latitude: 49.6116, longitude: 6.1319, accuracy: 20 };
  assertEquals(parseGeoUri(formatGeoUri(point)), point);
  // Luxembourg opens in Geoportail.lu (Web Mercator metres), elsewhere in OpenStreetMap.
  assertEquals(
    webMapUrl(point),
    "https://map.geoportail.lu/theme/main?version=3&lang=fr&zoom=16&X=682600&Y=6379282" +
      "&bgLayer=basemap_2015_global&crosshair=true",
  );
  assertEquals(
    webMapUrl({ latitude: 48.8566, longitude: 2.3522 }, 12),
    "https://www.openstreetmap.org/?mlat=48.8566&mlon=2.3522#map=12/48.8566/2.3522",
  );
  // The operator's template ([web] map_link_url) wins everywhere; a bad one is ignored.
  assertEquals(
    webMapUrl(point, 15, "https://maps.example/@{lat},{lon},{zoom}z"),
    "https://maps.example/@49.6116,6.1319,15z",
  );
  assertEquals(webMapUrl(point, 16, "https://maps.example/{s}/{lat}/{lon}"), webMapUrl(point));
  assert(!isMapLinkTemplate("http://maps.example/{lat}/{lon}"), "https only");
  assert(!isMapLinkTemplate("https://maps.example/{lat}"), "both coordinates");
  assert(isMapLinkTemplate("https://maps.example/?x={x}&y={y}"));
  assert(inLuxembourg(point) && !inLuxembourg({ latitude: 48.8566, longitude: 2.3522 }));
});

Deno.test("web location: Web Mercator tiles", () => {
  // Zoom 0 is one tile; the origin is the north-west corner.
  assertEquals(project(0, 0, 0), { x: 128, y: 128 });
  assert(near(project(MAX_LATITUDE, -180, 0).y, 0, 1e-6));
  assert(near(project(-MAX_LATITUDE, 180, 0).y, 256, 1e-6));
  // Luxembourg City, checked against OSM's formula (x from longitude, y = asinh(tan(lat))).
  assertEquals(tileAt(49.6116, 6.1319, 16), { x: 33884, y: 22335 });
  assertEquals(tileAt(49.6116, 6.1319, 10), { x: 529, y: 348 });
  assertEquals(tileAt(90, 180, 2), { x: 3, y: 0 }, "edges clamp into the grid");
  for (const [lat, lon, zoom] of [[49.6116, 6.1319, 16], [-33.86, 151.21, 5], [0, -179.9, 3]]) {
    const back = unproject(project(lat, lon, zoom), zoom);
    assert(near(back.latitude, lat) && near(back.longitude, lon), `${lat},${lon} round trip`);
  }
  assert(near(unproject({ x: 256 + 128, y: 128 }, 0).longitude, 0), "x wraps around the world");
  assert(near(metresPerPixel(0, 0), 156543.03, 0.01));
});

Deno.test("web location: a view's tiles and the point under a pixel", () => {
  const view = layoutView({ latitude: 49.6116, longitude: 6.1319 }, {
    zoom: 16,
    width: 300,
    height: 200,
  });
  assertEquals(view.marker, { left: 150, top: 100 });
  // Every pixel of the view is covered exactly once.
  const covers = (x: number, y: number) =>
    view.tiles.filter((t) => t.left <= x && x < t.left + 256 && t.top <= y && y < t.top + 256)
      .length;
  for (const [x, y] of [[0, 0], [299, 0], [0, 199], [299, 199], [150, 100]]) {
    assertEquals(covers(x, y), 1, `pixel ${x},${y}`);
  }
  assert(view.tiles.length >= 2 && view.tiles.length <= 4, `${view.tiles.length} tiles`);
  const centre = view.tiles.find((t) =>
    t.left <= 150 && 150 < t.left + 256 && t.top <= 100 &&
    100 < t.top + 256
  )!;
  assertEquals({ x: centre.x, y: centre.y }, tileAt(49.6116, 6.1319, 16));
  const back = pointInView(view, { left: 150, top: 100 }, 16);
  assert(near(back.latitude, 49.6116, 1e-6) && near(back.longitude, 6.1319, 1e-6));
  const east = pointInView(view, { left: 250, top: 100 }, 16);
  assert(east.longitude > 6.1319 && near(east.latitude, 49.6116, 1e-6), "right is east");

  // At zoom 1 near the antimeridian, tiles wrap and none lie beyond the poles.
  const wrapped = layoutView({ latitude: 80, longitude: 179 }, {
    zoom: 1,
    width: 600,
    height: 600,
  });
  assert(wrapped.tiles.every((t) => t.x >= 0 && t.x < 2 && t.y >= 0 && t.y < 2));
  assert(wrapped.tiles.some((t) => t.x === 0) && wrapped.tiles.some((t) => t.x === 1));
});

Deno.test("web location: tile templates and /config.json", () => {
  assertEquals(
    tileUrl("https://t.example/{z}/{x}/{y}.png", { z: 3, x: 4, y: 5 }),
    "https://t.example/3/4/5.png",
  );
  assert(isTileTemplate(DEFAULT_MAP_SETTINGS.tileUrl));
  assert(isTileTemplate("http://127.0.0.1:9/tiles/{z}/{y}/{x}"));
  for (
    const bad of [
      "https://t.example/{z}/{x}.png",
      "https://t.example/{z}/{x}/{y}/{s}.png",
      "ftp://t.example/{z}/{x}/{y}",
      "/tiles/{z}/{x}/{y}",
      "https://{s}.t.example/{z}/{x}/{y}",
    ]
  ) {
    assert(!isTileTemplate(bad), bad);
  }
  assertEquals(mapSettingsFrom(null), DEFAULT_MAP_SETTINGS);
  assertEquals(
    mapSettingsFrom({ map: { tile_url: "https://t.example/{z}/{x}/{y}", max_zoom: 17 } }),
    { tileUrl: "https://t.example/{z}/{x}/{y}", attribution: "", maxZoom: 17, linkUrl: "" },
    "another tile source does not keep the default's credits",
  );
  assertEquals(
    mapSettingsFrom({ map: { tile_url: "nonsense", attribution: "Me", max_zoom: 99 } }),
    { ...DEFAULT_MAP_SETTINGS, attribution: "Me" },
  );
  assertEquals(
    mapSettingsFrom({ map: { link_url: "https://maps.example/{lat}/{lon}" } }).linkUrl,
    "https://maps.example/{lat}/{lon}",
  );
  assertEquals(mapSettingsFrom({ map: { link_url: "javascript:{lat}{lon}" } }).linkUrl, "");
});

Deno.test("web location: the app reads /config.json once and keeps defaults without it", async () => {
  let calls = 0;
  const model = new LocationModel({
    fetch: (input) => {
      calls++;
      assertEquals(String(input), "/config.json");
      return Promise.resolve(Response.json({
        map: { tile_url: "https://t.example/{z}/{x}/{y}", attribution: "T", max_zoom: 12 },
      }));
    },
  });
  await Promise.all([model.loadSettings(), model.loadSettings()]);
  assertEquals(calls, 1);
  assertEquals(model.settings.value.maxZoom, 12);
  const offline = new LocationModel({ fetch: () => Promise.reject(new TypeError("offline")) });
  await offline.loadSettings();
  assertEquals(offline.settings.value, DEFAULT_MAP_SETTINGS);
});

Deno.test("web location: message content for the spec and for Element", () => {
  const content = locationContent({ latitude: 49.6116, longitude: 6.1319, accuracy: 20 }, {
    asset: "m.self",
    text: "My location: geo:49.6116,6.1319;u=20",
    ts: 1700000000000,
  });
  assertEquals(content, {
    msgtype: "m.location",
    body: "My location: geo:49.6116,6.1319;u=20",
    geo_uri: "geo:49.6116,6.1319;u=20",
    "org.matrix.msc3488.location": { uri: "geo:49.6116,6.1319;u=20" },
    "org.matrix.msc3488.asset": { type: "m.self" },
    "org.matrix.msc1767.text": "My location: geo:49.6116,6.1319;u=20",
    "org.matrix.msc3488.ts": 1700000000000,
  });
  assertEquals(parseLocationContent(content), {
    point: { latitude: 49.6116, longitude: 6.1319, accuracy: 20 },
    uri: "geo:49.6116,6.1319;u=20",
    description: null,
    asset: "m.self",
    ts: 1700000000000,
  });
  const pin = locationContent({ latitude: 1, longitude: 2 }, {
    asset: "m.pin",
    text: "x",
    description: " Town hall ",
    ts: 1,
  });
  assertEquals(pin["org.matrix.msc3488.location"], { uri: "geo:1,2", description: "Town hall" });
  assertEquals(parseLocationContent(pin)?.asset, "m.pin");
  // The spec's bare form (other clients), stable MSC3488 names, and broken ones.
  assertEquals(
    parseLocationContent({ msgtype: "m.location", body: "Big Ben", geo_uri: "geo:51.5008,0.1247" })
      ?.point,
    { latitude: 51.5008, longitude: 0.1247 },
  );
  assertEquals(
    parseLocationContent({
      "m.location": { uri: "geo:1,2", description: "Here" },
      "m.asset": { type: "m.pin" },
      "m.ts": 5,
    }),
    {
      point: { latitude: 1, longitude: 2 },
      uri: "geo:1,2",
      description: "Here",
      asset: "m.pin",
      ts: 5,
    },
  );
  assertEquals(parseLocationContent({ msgtype: "m.location", geo_uri: "geo:100,0" }), null);
  assertEquals(parseLocationContent({ msgtype: "m.location", body: "x" }), null);
});

Deno.test("web location: the share form with a position, a refusal and a pin", async () => {
  const granted = {
    getCurrentPosition(ok: PositionCallback) {
      ok({ coords: { latitude: 49.5, longitude: 6.2, accuracy: 7 } } as GeolocationPosition);
    },
  } as unknown as Geolocation;
  const form = new ShareLocationForm();
  await form.locate(granted);
  assertEquals(form.step.value, "mine");
  assertEquals(form.point.value, { latitude: 49.5, longitude: 6.2, accuracy: 7 });
  form.pickOnMap();
  assertEquals(form.step.value, "pin");
  assertEquals(form.point.value, { latitude: 49.5, longitude: 6.2 }, "the pin starts here");
  form.movePin({ latitude: 49.7, longitude: 6.0 });
  assertEquals(form.point.value, { latitude: 49.7, longitude: 6.0 });

  const refused = {
    getCurrentPosition(_ok: PositionCallback, fail: PositionErrorCallback) {
      fail({ code: 1, message: "denied" } as GeolocationPositionError);
    },
  } as unknown as Geolocation;
  const other = new ShareLocationForm();
  await other.locate(refused);
  assertEquals(other.step.value, "choose");
  assertEquals(other.problem.value?.key, "location.error.denied");
  other.pickOnMap();
  assertEquals(other.point.value, { ...DEFAULT_CENTER });
  await other.locate(undefined);
  assertEquals(other.problem.value?.key, "location.error.unsupported");
});
