//! The status LED, driven through embedded-hal's [`OutputPin`].
//!
//! [`RegisterPin`] drives one pin of the chip by writing its GPIO registers, which is all
//! the firmware needs and keeps it free of a HAL crate per chip. [`Led`] takes any
//! [`OutputPin`], so board code that already uses a HAL can pass the HAL's pin instead.

use core::convert::Infallible;
use core::ptr;

use embedded_hal::digital::{ErrorType, OutputPin, PinState};

use crate::{Gpio, StatusLed};

/// An LED on an output pin.
pub struct Led<P> {
    pin: P,
    active_low: bool,
}

impl<P: OutputPin> Led<P> {
    /// Creates an LED on `pin`. With `active_low`, the LED lights when the pin is low.
    pub fn new(pin: P, active_low: bool) -> Self {
        Led { pin, active_low }
    }

    /// Lights the LED.
    pub fn on(&mut self) -> Result<(), P::Error> {
        self.pin.set_state((!self.active_low).into())
    }

    /// Darkens the LED.
    pub fn off(&mut self) -> Result<(), P::Error> {
        self.pin.set_state(self.active_low.into())
    }
}

/// Returns the board's status LED, its pins configured as outputs and the LED dark.
///
/// # Safety
///
/// As for [`RegisterPin::output`], for each pin of `led`.
pub unsafe fn status_led(led: &StatusLed) -> Led<RegisterPin> {
    if let Some(return_path) = led.return_path {
        // SAFETY: the caller's guarantee covers the return path.
        unsafe { RegisterPin::output(return_path, PinState::Low) };
    }
    let dark = PinState::from(led.active_low);
    // SAFETY: the caller's guarantee covers the LED's pin.
    Led::new(unsafe { RegisterPin::output(led.pin, dark) }, led.active_low)
}

/// A GPIO output driven by writing the registers of its peripheral.
pub struct RegisterPin {
    gpio: Gpio,
}

impl RegisterPin {
    /// Enables the peripheral of `gpio` where it needs it and makes the pin an output at
    /// `level`. The level is set before the output is enabled, so the pin never shows
    /// another one.
    ///
    /// # Safety
    ///
    /// `gpio` must be a pin of the chip the program runs on, and nothing else in the
    /// program may use its GPIO block, nor the chip's clock gating or reset registers.
    pub unsafe fn output(gpio: Gpio, level: PinState) -> Self {
        match gpio {
            Gpio::Stellaris { port, .. } => {
                modify(STELLARIS_RCGC2, |clocks| clocks | 1 << port);
                // Reading the register back gives the port's clock a few cycles to start
                // before its registers are written.
                let _ = read(STELLARIS_RCGC2);
            }
            // NOTE: QEMU emulates no RP2040, so the RP2040 branches here and in `drive` have
            // run on no chip. The other blocks run under QEMU (the nRF52 and FE310-G002
            // boards share their registers with the micro:bit and sifive_e machines).
            Gpio::Rp2040 { pin } => {
                const IO_BANK0: u32 = 1 << 5;
                const PADS_BANK0: u32 = 1 << 8;
                const FUNCTION_SIO: u32 = 5;
                // Writes to the RESETS register's clear alias release the two banks.
                write(RP2040_RESETS + 0x3000, IO_BANK0 | PADS_BANK0);
                while read(RP2040_RESETS + 0x8) & (IO_BANK0 | PADS_BANK0) != IO_BANK0 | PADS_BANK0 {}
                write(RP2040_IO_BANK0 + 8 * u32::from(pin) + 4, FUNCTION_SIO);
            }
            Gpio::Mps2FpgaIo { .. } | Gpio::Nrf { .. } | Gpio::Sifive { .. } => {}
        }
        drive(gpio, level == PinState::High);
        match gpio {
            Gpio::Stellaris { port, pin } => {
                let base = stellaris_port(port);
                modify(base + 0x400, |direction| direction | 1 << pin);
                modify(base + 0x51C, |digital| digital | 1 << pin);
            }
            // The LED register has no direction.
            Gpio::Mps2FpgaIo { .. } => {}
            Gpio::Nrf { pin } => write(NRF_P0 + 0x518, 1 << pin),
            Gpio::Sifive { pin } => {
                modify(SIFIVE_GPIO0 + 0x38, |hardware| hardware & !(1 << pin));
                modify(SIFIVE_GPIO0 + 0x08, |enabled| enabled | 1 << pin);
            }
            Gpio::Rp2040 { pin } => write(RP2040_SIO + 0x24, 1 << pin),
        }
        RegisterPin { gpio }
    }
}

impl ErrorType for RegisterPin {
    type Error = Infallible;
}

impl OutputPin for RegisterPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        drive(self.gpio, false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        drive(self.gpio, true);
        Ok(())
    }
}

/// System control register whose bit n gates the clock of Stellaris GPIO port n.
const STELLARIS_RCGC2: u32 = 0x400F_E108;
/// The MPS2 FPGA I/O block's LED register.
const MPS2_FPGAIO_LED: u32 = 0x4002_8000;
/// GPIO port 0 of the nRF51 and nRF52.
const NRF_P0: u32 = 0x5000_0000;
/// GPIO0 block of the FE310.
const SIFIVE_GPIO0: u32 = 0x1001_2000;
/// The RP2040's reset controller.
const RP2040_RESETS: u32 = 0x4000_C000;
/// The RP2040's status and control registers of the user bank's pins.
const RP2040_IO_BANK0: u32 = 0x4001_4000;
/// The RP2040's single-cycle I/O block.
const RP2040_SIO: u32 = 0xD000_0000;

/// Returns the base address of Stellaris GPIO port `port` (0 for A).
fn stellaris_port(port: u8) -> u32 {
    match port {
        0..=3 => 0x4000_4000 + 0x1000 * u32::from(port),
        _ => 0x4002_4000 + 0x1000 * u32::from(port - 4),
    }
}

fn drive(gpio: Gpio, high: bool) {
    match gpio {
        Gpio::Stellaris { port, pin } => {
            // Address bits 9:2 mask the data register, so this write changes only `pin`.
            let mask = 1u32 << pin;
            write(stellaris_port(port) + (mask << 2), if high { mask } else { 0 });
        }
        Gpio::Mps2FpgaIo { bit } => modify(MPS2_FPGAIO_LED, |leds| set_bit(leds, bit, high)),
        Gpio::Nrf { pin } => write(NRF_P0 + if high { 0x508 } else { 0x50C }, 1 << pin),
        Gpio::Sifive { pin } => modify(SIFIVE_GPIO0 + 0x0C, |levels| set_bit(levels, pin, high)),
        Gpio::Rp2040 { pin } => write(RP2040_SIO + if high { 0x14 } else { 0x18 }, 1 << pin),
    }
}

fn set_bit(word: u32, bit: u8, value: bool) -> u32 {
    if value {
        word | 1 << bit
    } else {
        word & !(1 << bit)
    }
}

fn read(address: u32) -> u32 {
    // SAFETY: every address passed here is a 32-bit register, named by the constants
    // above, of the chip that `RegisterPin::output`'s caller guarantees. Reading one has
    // no side effect.
    unsafe { ptr::read_volatile(address as *const u32) }
}

fn write(address: u32, value: u32) {
    // SAFETY: as in `read`, and the caller of `RegisterPin::output` guarantees that nothing
    // else in the program uses these registers.
    unsafe { ptr::write_volatile(address as *mut u32, value) }
}

fn modify(address: u32, change: impl FnOnce(u32) -> u32) {
    write(address, change(read(address)));
}
