//! The status LED of an emulated board, read from QEMU's trace of its GPIO block.
//!
//! The firmware lights its board's [`StatusLed`] after a successful run. The QEMU machines
//! show no LED, but their trace events record what the firmware wrote to the GPIO block,
//! or the level QEMU computed for each pin, so the runner can tell whether the LED would
//! be lit.

use boards::{Gpio, StatusLed};

/// Returns the QEMU trace event that records the writes to `gpio`'s registers, or the
/// level QEMU computed for its pin, or `None` where QEMU emulates no such block (the
/// RP2040).
pub fn trace_event(gpio: Gpio) -> Option<&'static str> {
    match gpio {
        Gpio::Stellaris { .. } => Some("pl061_write"),
        Gpio::Mps2FpgaIo { .. } => Some("mps2_fpgaio_write"),
        Gpio::Nrf { .. } => Some("nrf51_gpio_update_output_irq"),
        Gpio::Sifive { .. } => Some("sifive_gpio_write"),
        Gpio::Rp2040 { .. } => None,
    }
}

/// Returns whether `trace` shows `led` lit at the end ([`is_lit`]), or `None` when no line
/// carries the LED's trace event (a QEMU without that event, or the RP2040).
pub fn traced_state(led: &StatusLed, trace: &str) -> Option<bool> {
    let event = trace_event(led.pin)?;
    trace.contains(event).then(|| is_lit(led, trace))
}

/// Returns true when the events in `trace` show `led` dark and then lit at the end. Its
/// pin must be an output at the dark level first and at the lit level last, and its
/// return path, if any, an output driven low.
///
/// An LED that was never seen dark counts as not lit: it would shine while the model
/// runs, or its pin is driven by something other than the firmware's status output.
pub fn is_lit(led: &StatusLed, trace: &str) -> bool {
    let lit = Some(!led.active_low);
    let levels = pin_levels(led.pin, trace);
    if !levels.contains(&Some(led.active_low)) {
        return false;
    }
    let returns = led.return_path.is_none_or(|path| pin_levels(path, trace).last() == Some(&Some(false)));
    levels.last() == Some(&lit) && returns
}

/// Returns the level of `gpio`'s pin after each of its events in `trace`: `Some(high)`
/// while the pin is an output, `None` while it is not.
fn pin_levels(gpio: Gpio, trace: &str) -> Vec<Option<bool>> {
    let Some(event) = trace_event(gpio) else { return Vec::new() };
    let events = trace.lines().filter_map(|line| line.split_once(event).map(|(_, fields)| fields));
    match gpio {
        // `<device> offset <offset> value <value>`: the data register at offsets below
        // 0x400, where address bits 9:2 mask the bits a write changes, the direction (0x400)
        // and the digital enable (0x51C).
        // NOTE: QEMU names the device by its place in the object tree, not by its port, so
        // writes to every port count. The result is right while the firmware drives one
        // port only.
        Gpio::Stellaris { pin, .. } => {
            let (mut data, mut direction, mut digital) = (0u64, 0u64, 0u64);
            let bit = 1u64 << pin;
            events
                .filter_map(|fields| register_write(fields, "value"))
                .map(|(offset, value)| {
                    match offset {
                        0..0x400 => {
                            let mask = offset >> 2;
                            data = data & !mask | value & mask;
                        }
                        0x400 => direction = value,
                        0x51C => digital = value,
                        _ => {}
                    }
                    (direction & digital & bit != 0).then_some(data & bit != 0)
                })
                .collect()
        }
        // `MPS2 FPGAIO write: offset 0x0 data <value> size 4`. Offset 0 is the LED register,
        // which drives the LEDs directly.
        Gpio::Mps2FpgaIo { bit } => events
            .filter_map(|fields| register_write(fields, "data"))
            .filter(|&(offset, _)| offset == 0)
            .map(|(_, value)| Some(value & 1 << bit != 0))
            .collect(),
        // `line <pin> value <level>`, where -1 means not driven.
        Gpio::Nrf { pin } => events
            .filter_map(|fields| {
                let (line, level) = fields.trim().strip_prefix("line ")?.split_once(" value ")?;
                Some((line.parse::<u8>().ok()?, level.trim().parse::<i32>().ok()?))
            })
            .filter(|&(line, _)| line == pin)
            .map(|(_, level)| (level >= 0).then_some(level == 1))
            .collect(),
        // `offset <register> value <value>`: output enable (0x8), output value (0xC) and
        // hardware function enable (0x38), whose bit takes the pin away from software.
        Gpio::Sifive { pin } => {
            let mut registers = [0u64; 3];
            events
                .filter_map(|fields| register_write(fields, "value"))
                .filter_map(|(offset, value)| {
                    let index = [0x8, 0xC, 0x38].iter().position(|&o| o == offset)?;
                    registers[index] = value;
                    let [enabled, high, hardware] = registers.map(|r| r & 1 << pin != 0);
                    Some((enabled && !hardware).then_some(high))
                })
                .collect()
        }
        Gpio::Rp2040 { .. } => Vec::new(),
    }
}

/// Parses `offset 0x<offset> <value_field> 0x<value>` from a trace event's fields.
fn register_write(fields: &str, value_field: &str) -> Option<(u64, u64)> {
    let hex = |text: &str| u64::from_str_radix(text.trim_start_matches("0x"), 16).ok();
    let (_, rest) = fields.split_once("offset ")?;
    let mut words = rest.split_whitespace();
    let offset = hex(words.next()?)?;
    if words.next()? != value_field {
        return None;
    }
    Some((offset, hex(words.next()?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn led(pin: Gpio, active_low: bool, return_path: Option<Gpio>) -> StatusLed {
        StatusLed { pin, active_low, return_path, label: "test" }
    }

    // The lines below are as QEMU 7.2 prints them with `-trace` and its log back end.

    #[test]
    fn stellaris_masked_data_writes() {
        let led = led(Gpio::Stellaris { port: 5, pin: 0 }, false, None);
        let write = |offset: &str, value: &str| {
            format!("pl061_write /machine/unattached/device[13] offset {offset} value {value}\n")
        };
        let dark = write("0x4", "0x0") + &write("0x400", "0x1") + &write("0x51c", "0x1");
        assert!(is_lit(&led, &(dark.clone() + &write("0x4", "0x1"))));
        assert!(!is_lit(&led, &dark));
        assert!(!is_lit(&led, &(dark.clone() + &write("0x8", "0x3"))), "address mask excludes pin 0");
        assert!(is_lit(&led, &(dark.clone() + &write("0x3fc", "0xff"))), "address mask covers every pin");
        assert!(!is_lit(&led, &(write("0x4", "0x1") + &write("0x400", "0x1") + &write("0x51c", "0x1"))), "never dark");
        assert!(
            !is_lit(&led, &(write("0x4", "0x0") + &write("0x400", "0x1") + &write("0x4", "0x1"))),
            "no digital enable"
        );
    }

    #[test]
    fn mps2_led_register_writes() {
        let led = led(Gpio::Mps2FpgaIo { bit: 0 }, false, None);
        let write = |data: &str| format!("mps2_fpgaio_write MPS2 FPGAIO write: offset 0x0 data {data} size 4\n");
        assert!(is_lit(&led, &(write("0x0") + &write("0x1"))));
        assert!(!is_lit(&led, &(write("0x0") + &write("0x2"))), "other LED");
        assert!(!is_lit(&led, &write("0x1")), "never dark");
        let other_register = "mps2_fpgaio_write MPS2 FPGAIO write: offset 0x50 data 0x1 size 4\n";
        assert!(!is_lit(&led, &(write("0x0") + other_register)));
    }

    #[test]
    fn nrf_matrix_needs_its_return_path() {
        let led = led(Gpio::Nrf { pin: 13 }, false, Some(Gpio::Nrf { pin: 4 }));
        let level = |line: u8, value: i32| format!("nrf51_gpio_update_output_irq line {line} value {value}\n");
        let row = level(13, 0) + &level(13, 1);
        assert!(!is_lit(&led, &row), "column 4 never driven");
        assert!(is_lit(&led, &(level(4, 0) + &row)));
        assert!(!is_lit(&led, &(level(4, 0) + &row + &level(4, -1))), "column released");
        assert!(!is_lit(&led, &(level(4, 0) + &level(13, 1))), "never dark");
    }

    #[test]
    fn sifive_active_low_pin() {
        let led = led(Gpio::Sifive { pin: 19 }, true, None);
        let write = |offset: &str, value: &str| format!("sifive_gpio_write offset {offset} value {value}\n");
        let dark = write("0xc", "0x80000") + &write("0x38", "0x0") + &write("0x8", "0x80000");
        assert!(is_lit(&led, &(dark.clone() + &write("0xc", "0x0"))));
        assert!(!is_lit(&led, &dark));
        assert!(!is_lit(&led, &(write("0x8", "0x80000") + &write("0xc", "0x0"))), "never dark");
        assert!(!is_lit(&led, &(dark + &write("0xc", "0x0") + &write("0x38", "0x80000"))), "pin given to hardware");
    }

    #[test]
    fn every_qemu_board_has_a_traced_led() {
        for board in boards::BOARDS.iter().filter(|b| b.is_qemu()) {
            assert!(trace_event(board.status_led.pin).is_some(), "{}", board.name);
        }
    }

    #[test]
    fn state_unknown_without_event() {
        let led = led(Gpio::Mps2FpgaIo { bit: 0 }, false, None);
        let write = |data: &str| format!("mps2_fpgaio_write MPS2 FPGAIO write: offset 0x0 data {data} size 4\n");
        assert_eq!(traced_state(&led, ""), None);
        assert_eq!(traced_state(&led, "pl061_write offset 0x4 value 0x1\n"), None);
        assert_eq!(traced_state(&led, &write("0x0")), Some(false));
        assert_eq!(traced_state(&led, &(write("0x0") + &write("0x1"))), Some(true));
    }

    #[test]
    fn rp2040_is_never_traced() {
        let led = led(Gpio::Rp2040 { pin: 25 }, false, None);
        assert_eq!(trace_event(led.pin), None);
        assert!(!is_lit(&led, "anything"));
    }
}
